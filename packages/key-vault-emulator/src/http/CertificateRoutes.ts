/**
 * The certificate operations of the REST app (contacts and issuers included): decode the body with the shared
 * schemas (`CertificateWire`), call the engine, encode the answer with the same schemas. Status codes as the service:
 * create 202 (with the operation and its `Location`), merge 201, everything else 200, purge 204.
 *
 * @since 0.1.0
 */
import {
  BackupCertificateResult,
  CertificateBundle,
  CertificateCreateParameters,
  CertificateImportParameters,
  CertificateIssuerListResult,
  CertificateIssuerParameters,
  CertificateListResult,
  CertificateMergeParameters,
  CertificateOperation,
  CertificateOperationUpdateParameter,
  CertificatePolicy,
  CertificateRestoreParameters,
  CertificateUpdateParameters,
  Contacts,
  DeletedCertificateBundle,
  DeletedCertificateListResult,
  IssuerBundle
} from "@effect-azure/key-vault/wire/CertificateWire"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { IssuerInput } from "../engine/CertificateEngine.js"
import type { Certificate } from "../engine/certificates/CertificateVersion.js"
import * as CertificateValidation from "./CertificateValidation.js"
import * as CertificateViews from "./CertificateViews.js"
import * as Paging from "./Paging.js"
import type { EmulatorResponse } from "./Protocol.js"
import * as Responses from "./Responses.js"
import { ok, respond, type RouteRequest, versionOrderKey, withBody, withPage } from "./RouteSupport.js"
import type { CertificateRoute } from "./Router.js"

/**
 * What a certificate operation needs besides its route.
 *
 * @since 0.1.0
 * @category models
 */
export type CertificateRequest = RouteRequest

const noCheck = (): undefined => undefined

const versionKey = ({ certificate }: Certificate): string => versionOrderKey(certificate.created, certificate.version)

/** `ok` for the statuses other than 200 (create 202, merge 201), with headers. */
const reply = <A, I>(
  status: number,
  schema: Schema.Schema<A, I>,
  value: A,
  headers: Readonly<Record<string, string>>
): Effect.Effect<EmulatorResponse> =>
  Effect.map(Effect.orDie(Schema.encode(schema)(value)), (body) => Responses.json(status, body, headers))

const issuerInput = (input: CertificateIssuerParameters): IssuerInput => ({
  provider: input.provider,
  accountId: input.credentials?.account_id,
  password: input.credentials?.pwd,
  organizationId: input.org_details?.id,
  administrators: input.org_details?.admin_details?.map((admin) => ({
    firstName: admin.first_name,
    lastName: admin.last_name,
    email: admin.email,
    phone: admin.phone
  })),
  enabled: input.attributes?.enabled
})

/**
 * Runs one certificate route.
 *
 * @since 0.1.0
 * @category routes
 */
export const handle = (
  route: CertificateRoute,
  { apiVersion, engine, request }: CertificateRequest
): Effect.Effect<EmulatorResponse> => {
  const context: CertificateViews.ViewContext = { origin: request.url.origin, engine }
  const certificates = engine.certificates
  const certificateBundle = (certificate: Certificate) =>
    ok(CertificateBundle, CertificateViews.bundle(context, certificate))
  const issuerBundle = (issuer: Parameters<typeof CertificateViews.issuer>[1]) =>
    ok(IssuerBundle, CertificateViews.issuer(context, issuer))
  const query = `api-version=${encodeURIComponent(apiVersion)}`
  switch (route._tag) {
    case "CreateCertificate":
      return withBody(CertificateCreateParameters, request.body, CertificateValidation.validateCreate, (input) =>
        respond(
          certificates.create(route.name, {
            policy: input.policy,
            enabled: input.attributes?.enabled,
            tags: input.tags,
            preserveCertOrder: input.preserveCertOrder
          }),
          (operation) =>
            reply(202, CertificateOperation, CertificateViews.operation(context, operation), {
              location: `${CertificateViews.certificateId(context, operation.name)}/pending?${query}` +
                `&request_id=${operation.requestId}`
            })
        ))
    case "ImportCertificate":
      return withBody(CertificateImportParameters, request.body, CertificateValidation.validateImport, (input) =>
        respond(
          certificates.import(route.name, {
            value: input.value,
            password: input.pwd,
            policy: input.policy,
            enabled: input.attributes?.enabled,
            tags: input.tags,
            preserveCertOrder: input.preserveCertOrder
          }),
          certificateBundle
        ))
    case "GetCertificate":
      return respond(certificates.get(route.name, route.version), certificateBundle)
    case "UpdateCertificate":
      return withBody(CertificateUpdateParameters, request.body, CertificateValidation.validateUpdate, (input) =>
        respond(
          certificates.update(route.name, route.version, {
            policy: input.policy,
            enabled: input.attributes?.enabled,
            tags: input.tags
          }),
          certificateBundle
        ))
    case "DeleteCertificate":
      return respond(
        certificates.delete(route.name),
        (deleted) => ok(DeletedCertificateBundle, CertificateViews.deletedBundle(context, deleted))
      )
    case "GetCertificatePolicy":
      return respond(
        certificates.getPolicy(route.name),
        ({ name, policy }) => ok(CertificatePolicy, CertificateViews.policy(context, name, policy))
      )
    case "UpdateCertificatePolicy":
      return withBody(CertificatePolicy, request.body, noCheck, (input) =>
        respond(
          certificates.updatePolicy(route.name, input),
          ({ name, policy }) => ok(CertificatePolicy, CertificateViews.policy(context, name, policy))
        ))
    case "GetCertificateOperation":
      return respond(
        certificates.getOperation(route.name),
        (operation) => ok(CertificateOperation, CertificateViews.operation(context, operation))
      )
    case "UpdateCertificateOperation":
      return withBody(CertificateOperationUpdateParameter, request.body, noCheck, (input) =>
        respond(
          input.cancellation_requested
            ? certificates.cancelOperation(route.name)
            : certificates.getOperation(route.name),
          (operation) => ok(CertificateOperation, CertificateViews.operation(context, operation))
        ))
    case "DeleteCertificateOperation":
      return respond(
        certificates.deleteOperation(route.name),
        (operation) => ok(CertificateOperation, CertificateViews.operation(context, operation))
      )
    case "MergeCertificate":
      return withBody(CertificateMergeParameters, request.body, CertificateValidation.validateMerge, (input) =>
        respond(
          certificates.merge(route.name, { x5c: input.x5c, enabled: input.attributes?.enabled, tags: input.tags }),
          (certificate) =>
            reply(201, CertificateBundle, CertificateViews.bundle(context, certificate), {
              location: `${CertificateViews.certificateId(context, certificate.name)}?${query}`
            })
        ))
    case "GetDeletedCertificate":
      return respond(
        certificates.getDeleted(route.name),
        (deleted) => ok(DeletedCertificateBundle, CertificateViews.deletedBundle(context, deleted))
      )
    case "RecoverDeletedCertificate":
      return respond(certificates.recover(route.name), certificateBundle)
    case "PurgeDeletedCertificate":
      return respond(certificates.purge(route.name), () => Effect.succeed(Responses.empty(204)))
    case "BackupCertificate":
      return respond(certificates.backup(route.name), (blob) => ok(BackupCertificateResult, { value: blob }))
    case "RestoreCertificate":
      return withBody(CertificateRestoreParameters, request.body, noCheck, (input) =>
        respond(certificates.restore(input.value), certificateBundle))
    case "ListCertificates":
      return Either.match(CertificateValidation.includePending(request.url), {
        onLeft: (message) => Effect.succeed(Responses.badParameter(message)),
        onRight: (includePending) =>
          withPage(request.url, (pageRequest) =>
            Effect.flatMap(certificates.list(includePending), (all) => {
              const page = Paging.paginate(all, (c) => c.name.toLowerCase(), pageRequest, request.url, apiVersion)
              return ok(CertificateListResult, {
                value: page.items.map((c) => CertificateViews.item(context, c, false)),
                nextLink: page.nextLink
              })
            }))
      })
    case "ListCertificateVersions":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(certificates.listVersions(route.name), (all) => {
          const page = Paging.paginate(all, versionKey, pageRequest, request.url, apiVersion)
          return ok(CertificateListResult, {
            value: page.items.map((c) => CertificateViews.item(context, c, true)),
            nextLink: page.nextLink
          })
        }))
    case "ListDeletedCertificates":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(certificates.listDeleted, (all) => {
          const page = Paging.paginate(all, (d) => d.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(DeletedCertificateListResult, {
            value: page.items.map((d) => CertificateViews.deletedItem(context, d)),
            nextLink: page.nextLink
          })
        }))
    case "GetCertificateContacts":
      return respond(certificates.getContacts, (list) => ok(Contacts, CertificateViews.contacts(context, list)))
    case "SetCertificateContacts":
      return withBody(Contacts, request.body, CertificateValidation.validateContacts, (input) =>
        respond(
          certificates.setContacts(
            (input.contacts ?? []).map((c) => ({ email: c.email, name: c.name, phone: c.phone }))
          ),
          (list) => ok(Contacts, CertificateViews.contacts(context, list))
        ))
    case "DeleteCertificateContacts":
      return respond(certificates.deleteContacts, (list) => ok(Contacts, CertificateViews.contacts(context, list)))
    case "GetCertificateIssuer":
      return respond(certificates.getIssuer(route.name), issuerBundle)
    case "SetCertificateIssuer":
      return withBody(CertificateIssuerParameters, request.body, CertificateValidation.validateIssuerSet, (input) =>
        respond(certificates.setIssuer(route.name, issuerInput(input)), issuerBundle))
    case "UpdateCertificateIssuer":
      return withBody(CertificateIssuerParameters, request.body, CertificateValidation.validateIssuerUpdate, (input) =>
        respond(certificates.updateIssuer(route.name, issuerInput(input)), issuerBundle))
    case "DeleteCertificateIssuer":
      return respond(certificates.deleteIssuer(route.name), issuerBundle)
    case "ListCertificateIssuers":
      return withPage(request.url, (pageRequest) =>
        Effect.flatMap(certificates.listIssuers, (all) => {
          const page = Paging.paginate(all, (i) => i.name.toLowerCase(), pageRequest, request.url, apiVersion)
          return ok(CertificateIssuerListResult, {
            value: page.items.map((i) => CertificateViews.issuerItem(context, i)),
            nextLink: page.nextLink
          })
        }))
  }
}
