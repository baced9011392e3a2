"""Demo data for a fresh sandbox: a small construction company in the US and one in Australia.

Each gets a chart of accounts, items, classes, a location, terms, payment methods, tax
agencies/rates/codes (a US tax group; AU GST codes), customers with a project job,
vendors and employees. Everything goes through the same create path as API calls.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo.ops import Company

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


def _put(company: Company, entity: str, record: dict[str, Any]) -> dict[str, Any]:
    """Store a record that the API only reads (tax setup, preferences), skipping create rules."""
    if entity not in ("Preferences", "CompanyInfo"):
        record.setdefault("Active", True)
    company._store(entity, record, None)
    return record


def _tax(company: Company) -> dict[str, str]:
    """The tax agencies, rates and codes; returns the code ids by name."""
    if company.realm.country == "US":
        agency = _put(
            company,
            "TaxAgency",
            {
                "DisplayName": "California Department of Tax and Fee Administration",
                "TaxTrackedOnSales": True,
                "TaxTrackedOnPurchases": False,
            },
        )
        ref = {"value": agency["Id"], "name": agency["DisplayName"]}
        state = _put(
            company,
            "TaxRate",
            {
                "Name": "California",
                "RateValue": Decimal("7.25"),
                "AgencyRef": ref,
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
        )
        county = _put(
            company,
            "TaxRate",
            {
                "Name": "Alameda County",
                "RateValue": Decimal("2"),
                "AgencyRef": ref,
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
        )
        details = [
            {"TaxRateRef": {"value": r["Id"], "name": r["Name"]}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
            for r in (state, county)
        ]
        group = _put(
            company,
            "TaxCode",
            {
                "Name": "Alameda",
                "Description": "Alameda County sales tax",
                "Taxable": True,
                "TaxGroup": True,
                "Hidden": False,
                "SalesTaxRateList": {"TaxRateDetail": details},
                "PurchaseTaxRateList": {"TaxRateDetail": []},
            },
        )
        return {"group": group["Id"]}
    agency = _put(
        company,
        "TaxAgency",
        {"DisplayName": "Australian Taxation Office", "TaxTrackedOnSales": True, "TaxTrackedOnPurchases": True},
    )
    ref = {"value": agency["Id"], "name": agency["DisplayName"]}
    codes = {}
    for name, sales_rate, purchase_rate in (("GST", "10", "10"), ("FRE", "0", "0")):
        sale = _put(
            company,
            "TaxRate",
            {
                "Name": f"{name} (sales)",
                "RateValue": Decimal(sales_rate),
                "AgencyRef": ref,
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
        )
        buy = _put(
            company,
            "TaxRate",
            {
                "Name": f"{name} (purchases)",
                "RateValue": Decimal(purchase_rate),
                "AgencyRef": ref,
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            },
        )
        code = _put(
            company,
            "TaxCode",
            {
                "Name": name,
                "Description": "GST" if name == "GST" else "GST free",
                "Taxable": name == "GST",
                "TaxGroup": True,
                "Hidden": False,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": sale["Id"], "name": sale["Name"]},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    ]
                },
                "PurchaseTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": buy["Id"], "name": buy["Name"]},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    ]
                },
            },
        )
        codes[name] = code["Id"]
    return codes


def seed(company: Company, company_name: str) -> None:
    """Fill an empty realm with the demo company."""
    realm = company.realm
    us = realm.country == "US"
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
                "City": "Oakland" if us else "Sydney",
                "CountrySubDivisionCode": "CA" if us else "NSW",
                "PostalCode": "94607" if us else "2000",
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
            "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD" if us else "AUD"}},
            "TimeTrackingPrefs": {
                "UseServices": True,
                "BillCustomers": True,
                "ShowBillRateToAll": False,
                "WorkWeekStartDate": "Monday",
            },
        },
    )
    _tax(company)
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
                "BillAddr": {"Line1": "1 Site Rd", "City": "Oakland" if us else "Sydney"},
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
    realm.requestids.clear()
