/** DKIM signing of every message. Publish the public key at `<keySelector>._domainkey.<domainName>`. */
export interface DkimOptions {
  domainName: string;
  keySelector: string;
  /** RSA private key in PEM (2048 bits or more). */
  privateKey: string;
}
