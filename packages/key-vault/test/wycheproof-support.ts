/**
 * Loads the trimmed Project Wycheproof vectors in `fixtures/wycheproof/` (Apache 2.0, see the NOTICE there) for the
 * client's and the emulator's tests. Each file names the Key Vault algorithm it exercises.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** Wycheproof's verdict: `acceptable` marks inputs a strict implementation may refuse or accept. */
export type WycheproofResult = "valid" | "invalid" | "acceptable"

/** One test case, with hex inputs as in the source. */
export interface WycheproofCase {
  readonly tcId: number
  readonly comment: string
  readonly flags: ReadonlyArray<string>
  readonly msg: string
  readonly sig?: string
  readonly ct?: string
  readonly label?: string
  readonly result: WycheproofResult
}

/** A group of cases sharing one key. */
export interface WycheproofGroup {
  readonly type: string
  readonly sha: string
  readonly publicKey?: {
    readonly curve?: string
    readonly modulus?: string
    readonly publicExponent?: string
    readonly wx?: string
    readonly wy?: string
  }
  readonly privateKeyJwk?: Readonly<Record<string, string>>
  readonly tests: ReadonlyArray<WycheproofCase>
}

/** One trimmed file. */
export interface WycheproofFile {
  readonly source: string
  readonly keyVaultAlgorithm: string
  readonly numberOfTests: number
  readonly keptTests: number
  readonly testGroups: ReadonlyArray<WycheproofGroup>
}

const FOLDER = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures", "wycheproof")

/** RS*, PS* and ES* verification vectors, by file name. */
export const SIGNATURE_FILES: ReadonlyArray<string> = [
  "rsa_signature_2048_sha256_test",
  "rsa_signature_2048_sha384_test",
  "rsa_signature_2048_sha512_test",
  "rsa_pss_2048_sha256_mgf1_32_test",
  "rsa_pss_2048_sha384_mgf1_48_test",
  "rsa_pss_4096_sha512_mgf1_64_test",
  "ecdsa_secp256r1_sha256_p1363_test",
  "ecdsa_secp384r1_sha384_p1363_test",
  "ecdsa_secp521r1_sha512_p1363_test",
  "ecdsa_secp256k1_sha256_p1363_test"
]

/** RSA-OAEP (SHA-1) and RSA-OAEP-256 decryption vectors. */
export const OAEP_FILES: ReadonlyArray<string> = [
  "rsa_oaep_2048_sha1_mgf1sha1_test",
  "rsa_oaep_2048_sha256_mgf1sha256_test"
]

/** Reads one trimmed file. */
export const load = (name: string): WycheproofFile =>
  JSON.parse(Fs.readFileSync(Path.join(FOLDER, `${name}.json`), "utf8")) as WycheproofFile

/** Hex to bytes. */
export const hex = (text: string | undefined): Uint8Array => new Uint8Array(Buffer.from(text ?? "", "hex"))

/** Hex to base64url, for JWK members. */
export const hexToB64u = (text: string | undefined): string => Buffer.from(text ?? "", "hex").toString("base64url")

/** Wycheproof's curve names as Key Vault's. */
export const KEY_VAULT_CURVE: Readonly<Record<string, "P-256" | "P-384" | "P-521" | "P-256K">> = {
  secp256r1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
  secp256k1: "P-256K"
}

/** Node's hash name for Wycheproof's `sha`. */
export const nodeHash = (sha: string): "sha1" | "sha256" | "sha384" | "sha512" =>
  sha.toLowerCase().replace("-", "") as "sha1" | "sha256" | "sha384" | "sha512"

/**
 * Whether an answer agrees with the verdict: `valid` must verify, `invalid` must not; `acceptable` cases (legacy
 * encodings a verifier may take or refuse, such as a PKCS#1 DigestInfo without its NULL) agree either way.
 */
export const agrees = (result: WycheproofResult, accepted: boolean): boolean =>
  result === "acceptable" || accepted === (result === "valid")

/** A short label for a failing case, without any key or signature bytes. */
export const describeCase = (file: string, c: WycheproofCase, accepted: boolean): string =>
  `${file} tcId ${c.tcId} (${c.result}, [${c.flags.join(", ")}] ${c.comment}) answered ${accepted}`
