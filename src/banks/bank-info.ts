/** What the registry lists about a bank (SPEC §1 "Bank"); the driver itself comes with bank sessions. */
export type BankInfo = {
  id: string;
  code: string;
  name: string;
  loginUrl: string;
  status: 'active' | 'inactive';
  /** How the service reads it: logging into its portal, or statement files people send. */
  source: 'portal' | 'statement';
  country: string;
  currencies: string[];
  twoFactorKinds: ('numeric' | 'alphanumeric')[];
  driverVersion: string;
};
