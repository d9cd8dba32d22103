package middleware

// StoredReadsInFlight is storedReadsInFlight, for the tests of the
// concurrent stored-version reads.
const StoredReadsInFlight = storedReadsInFlight
