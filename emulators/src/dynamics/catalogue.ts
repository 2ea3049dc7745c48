/**
 * The standard contact and account tables as a Dataverse organisation has them: their
 * commonly used columns by Web API name (lookups as `_<name>_value`), with the
 * attribute type, maximum length, choice values, lookup targets and whether the
 * platform alone sets them, as Microsoft's table reference lists them. The emulator
 * serves exactly these columns: a query naming any other one is refused, as Dataverse
 * refuses it. Further tables and custom columns come only from the emulator's
 * `entitySets` and `extraColumns` options.
 *
 * Left out: columns computed from others (address1_composite, yomifullname, the
 * `_base` money columns, exchangerate), the address2/address3 blocks, image and file
 * columns, and internal ones (processid, stageid, traversedpath, importsequencenumber).
 */
import type { AttributeDefinition, AttributeType, EntitySetDefinition } from './table-definitions.js';

type Columns = Record<string, AttributeType | AttributeDefinition>;

const text = (maxLength: number): AttributeDefinition => ({ type: 'string', maxLength });
const email: AttributeDefinition = { type: 'email', maxLength: 100 };
const phone: AttributeDefinition = { type: 'phone', maxLength: 50 };
const choice = (...options: number[]): AttributeDefinition => ({ type: 'picklist', options });
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The primary address (address1_*), the same on contacts and accounts. */
const ADDRESS1: Columns = {
  address1_name: text(200),
  address1_line1: text(250),
  address1_line2: text(250),
  address1_line3: text(250),
  address1_city: text(80),
  address1_county: text(50),
  address1_stateorprovince: text(50),
  address1_postalcode: text(20),
  address1_country: text(80),
  address1_telephone1: phone,
  address1_latitude: 'double',
  address1_longitude: 'double',
  // 1 Bill To, 2 Ship To, 3 Primary, 4 Other.
  address1_addresstypecode: choice(1, 2, 3, 4),
};

/** Email addresses and phone numbers, the same on contacts and accounts. */
const EMAILS_AND_PHONES: Columns = {
  emailaddress1: email,
  emailaddress2: email,
  emailaddress3: email,
  telephone1: phone,
  telephone2: phone,
  telephone3: phone,
  fax: phone,
  websiteurl: { type: 'url', maxLength: 200 },
};

/** Contact preferences both tables share. */
const PREFERENCES: Columns = {
  donotbulkemail: 'boolean',
  donotemail: 'boolean',
  donotphone: 'boolean',
  donotfax: 'boolean',
  donotpostalmail: 'boolean',
  // 1 Any, 2 Email, 3 Phone, 4 Fax, 5 Mail.
  preferredcontactmethodcode: choice(1, 2, 3, 4, 5),
};

/** Ownership, currency and the business unit: user-owned tables have them all. */
const OWNERSHIP: Columns = {
  _ownerid_value: 'owner',
  _owningbusinessunit_value: { type: 'lookup', targets: ['businessunit'], readOnly: true },
  _transactioncurrencyid_value: { type: 'lookup', targets: ['transactioncurrency'] },
};

export const CONTACTS: EntitySetDefinition = {
  entitySet: 'contacts',
  logicalName: 'contact',
  primaryKey: 'contactid',
  changeTracking: true,
  primaryNameAttribute: 'fullname',
  attributes: {
    salutation: text(100),
    firstname: text(50),
    middlename: text(50),
    lastname: text(50),
    // Calculated from firstname and lastname: read-only.
    fullname: { type: 'string', maxLength: 160, readOnly: true },
    nickname: text(100),
    suffix: text(10),
    jobtitle: text(100),
    department: text(100),
    ...EMAILS_AND_PHONES,
    mobilephone: phone,
    ...ADDRESS1,
    birthdate: 'date',
    anniversary: 'date',
    // 1 Male, 2 Female.
    gendercode: choice(1, 2),
    // 1 Single, 2 Married, 3 Divorced, 4 Widowed.
    familystatuscode: choice(1, 2, 3, 4),
    numberofchildren: 'integer',
    // 1 Decision Maker, 2 Employee, 3 Influencer.
    accountrolecode: choice(1, 2, 3),
    annualincome: 'money',
    creditlimit: 'money',
    creditonhold: 'boolean',
    ...PREFERENCES,
    description: { type: 'memo', maxLength: 2000 },
    // A Customer lookup: an account or a contact (parentcustomerid_account, parentcustomerid_contact).
    _parentcustomerid_value: 'customer',
    _preferredsystemuserid_value: { type: 'lookup', targets: ['systemuser'] },
    ...OWNERSHIP,
  },
};

export const ACCOUNTS: EntitySetDefinition = {
  entitySet: 'accounts',
  logicalName: 'account',
  primaryKey: 'accountid',
  changeTracking: true,
  primaryNameAttribute: 'name',
  attributes: {
    name: text(160),
    accountnumber: text(20),
    tickersymbol: text(10),
    sic: text(20),
    ...EMAILS_AND_PHONES,
    ...ADDRESS1,
    // 1 Accounting … 33 Wholesale.
    industrycode: choice(...range(1, 33)),
    // 1 Preferred Customer, 2 Standard.
    accountcategorycode: choice(1, 2),
    // 1 Competitor … 12 Other (relationship type).
    customertypecode: choice(...range(1, 12)),
    // 1 Public, 2 Private, 3 Subsidiary, 4 Other.
    ownershipcode: choice(1, 2, 3, 4),
    // 1 Net 30, 2 2% 10 Net 30, 3 Net 45, 4 Net 60.
    paymenttermscode: choice(1, 2, 3, 4),
    numberofemployees: 'integer',
    revenue: 'money',
    creditlimit: 'money',
    creditonhold: 'boolean',
    ...PREFERENCES,
    description: { type: 'memo', maxLength: 2000 },
    _primarycontactid_value: { type: 'lookup', targets: ['contact'] },
    _parentaccountid_value: { type: 'lookup', targets: ['account'] },
    ...OWNERSHIP,
  },
};

/** The tables every emulated organisation has. */
export const CATALOGUE: readonly EntitySetDefinition[] = [CONTACTS, ACCOUNTS];
