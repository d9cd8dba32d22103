package fhirspec

// stu3PatientCompartment is the FHIR STU3 (3.0.1) patient compartment.
//
// Source of the types and parameter names: the official
// CompartmentDefinition "patient" of FHIR 3.0.1, as published in the
// google/fhir repository at
// spec/hl7.fhir.core/3.0.1/package/CompartmentDefinition-patient.json
// (its "resource[].param" lists; types listed there without params are
// never in the compartment and are left out here).
//
// Source of the element paths: the "expression" of each SearchParameter in
// the same package (spec/hl7.fhir.core/3.0.1/package/SearchParameter-*.json),
// reduced to the Reference element paths from the resource root ("X.y.z"
// becomes "y.z"; a "where(resolve() is Patient)" filter is dropped because
// only references to Patient can match anyway; parts of a union that apply
// to other resource types are dropped).
//
// Format: a resource type, then its parameters as name=path|path. A
// parameter without "=" is a chained parameter (evaluated through another
// resource).
const stu3PatientCompartment = `
Account                     subject=subject
AdverseEvent                subject=subject
AllergyIntolerance          patient=patient recorder=recorder asserter=asserter
Appointment                 actor=participant.actor
AppointmentResponse         actor=actor
AuditEvent                  patient=agent.reference|entity.reference agent.patient entity.patient
Basic                       patient=subject author=author
BodySite                    patient=patient
CarePlan                    patient=subject performer=activity.detail.performer
CareTeam                    patient=subject participant=participant.member
ChargeItem                  subject=subject
Claim                       patient=patient payee=payee.party
ClaimResponse               patient=patient
ClinicalImpression          subject=subject
Communication               subject=subject sender=sender recipient=recipient
CommunicationRequest        subject=subject sender=sender recipient=recipient requester=requester.agent
Composition                 subject=subject author=author attester=attester.party
Condition                   patient=subject asserter=asserter
Consent                     patient=patient
Coverage                    policy-holder=policyHolder subscriber=subscriber beneficiary=beneficiary payor=payor
DetectedIssue               patient=patient
DeviceRequest               subject=subject requester=requester.agent performer=performer
DeviceUseStatement          subject=subject
DiagnosticReport            subject=subject
DocumentManifest            subject=subject author=author recipient=recipient
DocumentReference           subject=subject author=author
EligibilityRequest          patient=patient
Encounter                   patient=subject
EnrollmentRequest           subject=subject
EpisodeOfCare               patient=patient
ExplanationOfBenefit        patient=patient payee=payee.party
FamilyMemberHistory         patient=patient
Flag                        patient=subject
Goal                        patient=subject
Group                       member=member.entity
ImagingManifest             patient=patient author=author
ImagingStudy                patient=patient
Immunization                patient=patient
ImmunizationRecommendation  patient=patient
List                        subject=subject source=source
MeasureReport               patient=patient
Media                       subject=subject
MedicationAdministration    patient=subject performer=performer.actor subject=subject
MedicationDispense          subject=subject patient=subject receiver=receiver
MedicationRequest           subject=subject
MedicationStatement         subject=subject
NutritionOrder              patient=patient
Observation                 subject=subject performer=performer
Patient                     link=link.other
Person                      patient=link.target
Procedure                   patient=subject performer=performer.actor
ProcedureRequest            subject=subject performer=performer
Provenance                  target.subject target.patient patient=target
QuestionnaireResponse       subject=subject author=author
ReferralRequest             patient=subject requester=requester.agent
RelatedPerson               patient=patient
RequestGroup                subject=subject participant=action.participant
ResearchSubject             individual=individual
RiskAssessment              subject=subject
Schedule                    actor=actor
Specimen                    subject=subject
SupplyDelivery              patient=patient
SupplyRequest               requester=requester.agent
VisionPrescription          patient=patient
`
