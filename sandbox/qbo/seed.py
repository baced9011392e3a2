"""Demo data for a fresh sandbox: a small construction company in the US, Canada, the UK and Australia.

Each gets a chart of accounts, items, classes, a location, terms, payment methods, its
region's tax agencies/rates/codes (regions.TAX), customers with a project job,
vendors and employees. Everything goes through the same create path as API calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo.ops import Company
from sandbox.qbo.regions import ADDRESS, CURRENCY, TAX

ACCOUNTS = [
    ("Checking", "Bank", "Checking"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Retainage Receivable", "Other Current Asset", "OtherCurrentAssets"),
    ("Retainage Payable", "Other Current Liability", "OtherCurrentLiabilities"),
    ("Company Card", "Credit Card", "CreditCard"),
    ("Construction Income", "Income", "ServiceFeeIncome"),
    ("Subcontractors", "Cost of Goods Sold", "CostOfLaborCos"),
    ("Materials", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("Job Expenses", "Expense", "OtherMiscellaneousServiceCost"),
    ("Payroll Expenses", "Expense", "PayrollExpenses"),
]
CLASSES = ["Labor", "Material", "Subcontract", "Equipment", "Other"]
TERMS = [("Net 30", 30), ("Net 15", 15), ("Due on receipt", 0)]
METHODS = [("Cash", "NON_CREDIT_CARD"), ("Check", "NON_CREDIT_CARD"), ("Visa", "CREDIT_CARD")]
CUSTOMERS = ["Riverside Medical Center", "Oakwood Estates", "City of Fairview"]
VENDORS = ["Bay Concrete Supply", "Summit Electric", "Precision Drywall"]
EMPLOYEES = [("Maria", "Lopez"), ("James", "Chen")]
# Records the US tax setup takes: one agency, two rates, one group.
US_TAX_IDS = len(TAX["US"].agencies) + len(TAX["US"].rates) + len(TAX["US"].codes)


def _put(company: Company, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """Store a record that the API only reads (tax setup, preferences), skipping create rules."""
    if entity not in ("Preferences", "CompanyInfo"):
        record.setdefault("Active", True)
    company._store(entity, record, None)
    return record


def _tax(company: Company) -> dict[str, str]:
    """The region's tax agencies, rates and codes (regions.TAX); returns the code ids by name.

    Each rate is made just before the first code that uses it, so a region's ids follow its
    table (the US and AU ids are what they always were).
    """
    setup = TAX.get(company.realm.country, TAX["US"])
    agencies = {}
    for name, (on_sales, on_purchases) in setup.agencies.items():
        agency = _put(
            company,
            "TaxAgency",
            {"DisplayName": name, "TaxTrackedOnSales": on_sales, "TaxTrackedOnPurchases": on_purchases},
        )
        agencies[name] = {"value": agency["Id"], "name": agency["DisplayName"]}
    by_name = {rate.name: rate for rate in setup.rates}
    made: dict[str, dict[str, Any]] = {}

    def details(names: tuple[str, ...]) -> list[dict[str, Any]]:
        out = []
        for rate_name in names:
            if rate_name not in made:
                rate = by_name[rate_name]
                made[rate_name] = _put(
                    company,
                    "TaxRate",
                    {
                        "Name": rate.name,
                        "RateValue": rate.percent,
                        "AgencyRef": agencies[rate.agency],
                        "SpecialTaxType": "NONE",
                        "DisplayType": "ReadOnly",
                    },
                )
            record = made[rate_name]
            out.append(
                {
                    "TaxRateRef": {"value": record["Id"], "name": record["Name"]},
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": 0,
                }
            )
        return out

    codes = {}
    for code in setup.codes:
        sales, purchases = details(code.sales), details(code.purchases)
        record = _put(
            company,
            "TaxCode",
            {
                "Name": code.name,
                "Description": code.description,
                "Taxable": code.taxable,
                "TaxGroup": setup.group or len(code.sales) > 1 or len(code.purchases) > 1,
                "Hidden": False,
                "SalesTaxRateList": {"TaxRateDetail": sales},
                "PurchaseTaxRateList": {"TaxRateDetail": purchases},
            },
        )
        codes[code.name] = record["Id"]
    return codes


def seed(company: Company, company_name: str) -> None:
    """Fill an empty realm with the demo company."""
    realm = company.realm
    us = realm.country == "US"
    city, subdivision, postal = ADDRESS.get(realm.country, ADDRESS["US"])
    _put(
        company,
        "CompanyInfo",
        {
            "CompanyName": company_name,
            "LegalName": company_name + " LLC" if us else company_name,
            "Country": realm.country,
            "FiscalYearStartMonth": "January",
            "CompanyAddr": {
                "Line1": "100 Main St",
                "City": city,
                **({"CountrySubDivisionCode": subdivision} if subdivision else {}),
                "PostalCode": postal,
                "Country": realm.country,
            },
            "SupportedLanguages": "en",
            "NameValue": [{"Name": "NeoEnabled", "Value": "true"}],
        },
    )
    _put(
        company,
        "Preferences",
        {
            "AccountingInfoPrefs": {
                "TrackDepartments": True,
                "DepartmentTerminology": "Location",
                "ClassTrackingPerTxn": False,
                "ClassTrackingPerTxnLine": True,
                "UseAccountNumbers": False,
                "CustomerTerminology": "Customers",
            },
            "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDeposit": True, "AllowDiscount": True},
            "VendorAndPurchasesPrefs": {"BillableExpenseTracking": True, "TrackingByCustomer": True},
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": False},
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": False,
                "HomeCurrency": {"value": CURRENCY.get(realm.country, CURRENCY["US"])[0]},
            },
            "TimeTrackingPrefs": {
                "UseServices": True,
                "BillCustomers": True,
                "ShowBillRateToAll": False,
                "WorkWeekStartDate": "Monday",
            },
        },
    )
    if realm.country in ("US", "AU"):
        _tax(company)
    else:
        # The Canadian and UK companies take the US company's ids for everything but tax (the
        # ids the US tax setup takes are left unused; the region's tax setup comes last), so
        # the packs' sandbox params carry over and only the tax params differ by region.
        realm.next_id += US_TAX_IDS
    accounts = {}
    for name, kind, sub in ACCOUNTS:
        accounts[name] = company.create("Account", {"Name": name, "AccountType": kind, "AccountSubType": sub})["Id"]
    income = {"value": accounts["Construction Income"]}
    for name, expense in (("Services", "Subcontractors"), ("Labor", "Payroll Expenses"), ("Materials", "Materials")):
        company.create(
            "Item",
            {
                "Name": name,
                "Type": "Service",
                "IncomeAccountRef": income,
                "ExpenseAccountRef": {"value": accounts[expense]},
                "UnitPrice": Decimal("0"),
            },
        )
    for name in CLASSES:
        company.create("Class", {"Name": name})
    company.create("Department", {"Name": "Main Office"})
    for name, days in TERMS:
        company.create("Term", {"Name": name, "DueDays": days})
    for name, kind in METHODS:
        company.create("PaymentMethod", {"Name": name, "Type": kind})
    taxable = {"Taxable": True} if us else {}
    parents = [
        company.create(
            "Customer",
            {
                "DisplayName": name,
                "CompanyName": name,
                **taxable,
                "BillAddr": {"Line1": "1 Site Rd", "City": city},
            },
        )
        for name in CUSTOMERS
    ]
    company.create(
        "Customer",
        {
            "DisplayName": "Riverside Phase 1",
            "Job": True,
            "ParentRef": {"value": parents[0]["Id"]},
            "BillWithParent": True,
        },
    )
    for name in VENDORS:
        company.create("Vendor", {"DisplayName": name, "CompanyName": name})
    for given, family in EMPLOYEES:
        company.create("Employee", {"GivenName": given, "FamilyName": family})
    # Retainage billed on owner invoices posts to Retainage Receivable through an item (made
    # last, so the ids above stay as they were).
    company.create(
        "Item",
        {
            "Name": "Retainage Receivable",
            "Type": "Service",
            "IncomeAccountRef": {"value": accounts["Retainage Receivable"]},
            "UnitPrice": Decimal("0"),
        },
    )
    if realm.country not in ("US", "AU"):
        _tax(company)
    realm.requestids.clear()
