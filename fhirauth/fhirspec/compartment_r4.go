package fhirspec

// r4PatientCompartment is the FHIR R4 (4.0.1) patient compartment.
//
// Source of the types and parameter names: the CompartmentDefinition
// "patient" of FHIR 4.0.1 as published in the google/fhir-gateway
// repository at server/src/main/resources/CompartmentDefinition-patient.json
// (its "resource[].param" lists; types listed there without params are
// never in the compartment and are left out here). That copy differs from
// the HL7 original in one place: Observation also lists "patient", which
// searches the same element as "subject".
//
// Source of the element paths: the "expression" of each SearchParameter of
// FHIR 4.0.1 (google/fhir, spec/hl7.fhir.r4.core/4.0.1/package/
// SearchParameter-*.json), reduced to the Reference element paths from the
// resource root ("X.y.z" becomes "y.z"; a "where(resolve() is Patient)"
// filter is dropped because only references to Patient can match anyway;
// parts of a union that apply to other resource types are dropped).
//
// Format: a resource type, then its parameters as name=path|path.
const r4PatientCompartment = `
Account                     subject=subject
AdverseEvent                subject=subject
AllergyIntolerance          patient=patient recorder=recorder asserter=asserter
Appointment                 actor=participant.actor
AppointmentResponse         actor=actor
AuditEvent                  patient=agent.who|entity.what
Basic                       patient=subject author=author
BodyStructure               patient=patient
CarePlan                    patient=subject performer=activity.detail.performer
CareTeam                    patient=subject participant=participant.member
ChargeItem                  subject=subject
Claim                       patient=patient payee=payee.party
ClaimResponse               patient=patient
ClinicalImpression          subject=subject
Communication               subject=subject sender=sender recipient=recipient
CommunicationRequest        subject=subject sender=sender recipient=recipient requester=requester
Composition                 subject=subject author=author attester=attester.party
Condition                   patient=subject asserter=asserter
Consent                     patient=patient
Coverage                    policy-holder=policyHolder subscriber=subscriber beneficiary=beneficiary payor=payor
CoverageEligibilityRequest  patient=patient
CoverageEligibilityResponse patient=patient
DetectedIssue               patient=patient
DeviceRequest               subject=subject performer=performer
DeviceUseStatement          subject=subject
DiagnosticReport            subject=subject
DocumentManifest            subject=subject author=author recipient=recipient
DocumentReference           subject=subject author=author
Encounter                   patient=subject
EnrollmentRequest           subject=candidate
EpisodeOfCare               patient=patient
ExplanationOfBenefit        patient=patient payee=payee.party
FamilyMemberHistory         patient=patient
Flag                        patient=subject
Goal                        patient=subject
Group                       member=member.entity
ImagingStudy                patient=subject
Immunization                patient=patient
ImmunizationEvaluation      patient=patient
ImmunizationRecommendation  patient=patient
Invoice                     subject=subject patient=subject recipient=recipient
List                        subject=subject source=source
MeasureReport               patient=subject
Media                       subject=subject
MedicationAdministration    patient=subject performer=performer.actor subject=subject
MedicationDispense          subject=subject patient=subject receiver=receiver
MedicationRequest           subject=subject
MedicationStatement         subject=subject
MolecularSequence           patient=patient
NutritionOrder              patient=patient
Observation                 subject=subject patient=subject performer=performer
Patient                     link=link.other
Person                      patient=link.target
Procedure                   patient=subject performer=performer.actor
Provenance                  patient=target
QuestionnaireResponse       subject=subject author=author
RelatedPerson               patient=patient
RequestGroup                subject=subject participant=action.participant
ResearchSubject             individual=individual
RiskAssessment              subject=subject
Schedule                    actor=actor
ServiceRequest              subject=subject performer=performer
Specimen                    subject=subject
SupplyDelivery              patient=patient
SupplyRequest               subject=deliverTo
VisionPrescription          patient=patient
`
