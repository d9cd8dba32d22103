package nocomment

// N is documented.
const N = 1
