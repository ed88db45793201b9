export { type ApiResult, type CallOptions, type ClientOptions, PartnerClient } from "./partner-client";
export { newJti, type PartnerCredentials, SIGNATURE_TYP, type SignInput, sha256Base64url, signRequest } from "./signing";
