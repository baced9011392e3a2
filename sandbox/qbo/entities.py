"""The entities the QBO sandbox serves and their top-level properties, written from the API reference.

Properties come from shared/reference/qbo-api.md §4 (and the XSD `Finance.xsd` it cites)
and include the ones every entity inherits (`Id`, `SyncToken`, `MetaData`, `domain`,
`sparse`; `status` on transactions). The query endpoint accepts a property in WHERE or ORDER BY only if
it is listed here (case-insensitive, first segment of a dotted path); an entity not listed
accepts any property. This is the emulator's own list, kept apart from Joist's catalogue
(`schemas/catalog/qbo.yaml`) so that a wrong entry there is caught rather than agreed with.
"""

from __future__ import annotations

_PROPERTIES: dict[str, str] = {
    "Account": (
        "Id SyncToken domain sparse MetaData Name FullyQualifiedName AcctNum Description AccountType "
        "AccountSubType Classification SubAccount ParentRef Active CurrentBalance "
        "CurrentBalanceWithSubAccounts CurrencyRef TaxCodeRef "
    ),
    "Class": ("Id SyncToken domain sparse MetaData Name FullyQualifiedName SubClass ParentRef Active "),
    "Department": ("Id SyncToken domain sparse MetaData Name FullyQualifiedName SubDepartment ParentRef Active "),
    "Item": (
        "Id SyncToken domain sparse MetaData Name FullyQualifiedName Sku Type Description PurchaseDesc "
        "UnitPrice PurchaseCost Taxable Active SubItem ParentRef Level IncomeAccountRef ExpenseAccountRef "
        "AssetAccountRef ClassRef SalesTaxCodeRef PurchaseTaxCodeRef TrackQtyOnHand QtyOnHand InvStartDate "
    ),
    "TaxCode": (
        "Id SyncToken domain sparse MetaData Name Description Active Taxable TaxGroup Hidden SalesTaxRateList "
        "PurchaseTaxRateList "
    ),
    "TaxRate": (
        "Id SyncToken domain sparse MetaData Name Description Active RateValue AgencyRef SpecialTaxType "
        "DisplayType EffectiveTaxRate "
    ),
    "TaxAgency": ("Id SyncToken domain sparse MetaData DisplayName TaxTrackedOnSales TaxTrackedOnPurchases "),
    "Customer": (
        "Id SyncToken domain sparse MetaData DisplayName Title GivenName MiddleName FamilyName Suffix "
        "CompanyName PrintOnCheckName FullyQualifiedName Active Job IsProject BillWithParent ParentRef Level "
        "PrimaryEmailAddr PrimaryPhone Mobile Fax WebAddr BillAddr ShipAddr Notes Taxable DefaultTaxCodeRef "
        "TaxExemptionReasonId ResaleNum SalesTermRef PaymentMethodRef ARAccountRef CustomerTypeRef "
        "CurrencyRef Balance BalanceWithJobs OpenBalanceDate PreferredDeliveryMethod "
    ),
    "Vendor": (
        "Id SyncToken domain sparse MetaData DisplayName Title GivenName MiddleName FamilyName Suffix "
        "CompanyName PrintOnCheckName Active PrimaryEmailAddr PrimaryPhone Mobile Fax WebAddr BillAddr "
        "AcctNum TaxIdentifier Vendor1099 TermRef APAccountRef BillRate CostRate CurrencyRef Balance Notes "
    ),
    "Employee": (
        "Id SyncToken domain sparse MetaData DisplayName Title GivenName MiddleName FamilyName Suffix "
        "PrintOnCheckName Active EmployeeNumber SSN PrimaryAddr PrimaryEmailAddr PrimaryPhone Mobile "
        "BillableTime BillRate CostRate HiredDate ReleasedDate Gender "
    ),
    "Term": (
        "Id SyncToken domain sparse MetaData Name Active Type DueDays DiscountDays DiscountPercent "
        "DayOfMonthDue DueNextMonthDays DiscountDayOfMonth "
    ),
    "PaymentMethod": ("Id SyncToken domain sparse MetaData Name Active Type "),
    "Estimate": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate DueDate ShipDate ExpirationDate "
        "TxnStatus AcceptedBy AcceptedDate PrivateNote CustomerMemo CustomerRef ProjectRef ClassRef "
        "DepartmentRef SalesTermRef CurrencyRef ExchangeRate BillEmail BillAddr ShipAddr GlobalTaxCalculation "
        "ApplyTaxAfterDiscount PrintStatus EmailStatus AllowOnlineCreditCardPayment AllowOnlineACHPayment "
        "Deposit TotalAmt HomeTotalAmt Balance HomeBalance InvoiceLink LinkedTxn TxnTaxDetail CustomField "
        "Line "
    ),
    "Invoice": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate DueDate ShipDate ExpirationDate "
        "TxnStatus AcceptedBy AcceptedDate PrivateNote CustomerMemo CustomerRef ProjectRef ClassRef "
        "DepartmentRef SalesTermRef CurrencyRef ExchangeRate BillEmail BillAddr ShipAddr GlobalTaxCalculation "
        "ApplyTaxAfterDiscount PrintStatus EmailStatus AllowOnlineCreditCardPayment AllowOnlineACHPayment "
        "Deposit TotalAmt HomeTotalAmt Balance HomeBalance InvoiceLink LinkedTxn TxnTaxDetail CustomField "
        "Line "
    ),
    "Payment": (
        "Id SyncToken domain sparse status MetaData TxnDate PrivateNote CustomerRef ProjectRef "
        "DepositToAccountRef PaymentMethodRef ARAccountRef CurrencyRef ExchangeRate PaymentRefNum "
        "ProcessPayment TotalAmt UnappliedAmt LinkedTxn CustomField Line "
    ),
    "PurchaseOrder": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate DueDate ExpectedDate PrivateNote Memo "
        "POStatus ManuallyClosed VendorRef APAccountRef ClassRef DepartmentRef SalesTermRef CurrencyRef "
        "ExchangeRate ShipTo ShipAddr VendorAddr POEmail GlobalTaxCalculation TxnTaxDetail TotalAmt LinkedTxn "
        "CustomField Line "
    ),
    "Bill": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate DueDate PrivateNote VendorRef "
        "APAccountRef SalesTermRef DepartmentRef CurrencyRef ExchangeRate GlobalTaxCalculation TxnTaxDetail "
        "TotalAmt HomeTotalAmt Balance LinkedTxn CustomField Line "
    ),
    "VendorCredit": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate DueDate PrivateNote VendorRef "
        "APAccountRef SalesTermRef DepartmentRef CurrencyRef ExchangeRate GlobalTaxCalculation TxnTaxDetail "
        "TotalAmt HomeTotalAmt Balance LinkedTxn CustomField Line "
    ),
    "BillPayment": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate PrivateNote VendorRef APAccountRef "
        "DepartmentRef CurrencyRef ExchangeRate PayType CheckPayment CreditCardPayment TotalAmt LinkedTxn "
        "CustomField Line "
    ),
    "Purchase": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate PrivateNote PaymentType AccountRef "
        "EntityRef Credit PaymentMethodRef RemitToAddr PrintStatus DepartmentRef CurrencyRef ExchangeRate "
        "GlobalTaxCalculation TxnTaxDetail TotalAmt LinkedTxn CustomField Line "
    ),
    "JournalEntry": (
        "Id SyncToken domain sparse status MetaData DocNumber TxnDate PrivateNote Adjustment CurrencyRef "
        "ExchangeRate TxnTaxDetail TotalAmt CustomField Line "
    ),
    "TimeActivity": (
        "Id SyncToken domain sparse status MetaData TxnDate NameOf EmployeeRef VendorRef CustomerRef "
        "ProjectRef ItemRef ClassRef DepartmentRef PayrollItemRef BillableStatus Taxable HourlyRate CostRate "
        "Hours Minutes BreakHours BreakMinutes StartTime EndTime Description "
    ),
    "Attachable": (
        "Id SyncToken domain sparse MetaData FileName ContentType Size Note Category FileAccessUri "
        "TempDownloadUri AttachableRef "
    ),
    "CompanyInfo": (
        "Id SyncToken domain sparse MetaData CompanyName LegalName Country CompanyAddr LegalAddr Email "
        "PrimaryPhone WebAddr FiscalYearStartMonth SupportedLanguages NameValue "
    ),
    "Preferences": (
        "Id SyncToken domain sparse MetaData AccountingInfoPrefs SalesFormsPrefs VendorAndPurchasesPrefs "
        "TaxPrefs CurrencyPrefs TimeTrackingPrefs OtherPrefs "
    ),
}

PROPERTIES: dict[str, tuple[str, ...]] = {name: tuple(text.split()) for name, text in _PROPERTIES.items()}
