"""What differs between the seeded QBO companies of each region: country, address, currency, tax.

QBO sets a company's tax list up from where it is. The tables below follow Intuit's lists:
US sales tax by state and county (one tax group; lines say TAX or NON); Canada's GST, HST by
province and the combined GST/PST and GST/QST codes (each rate its own agency and TaxLine);
the UK's VAT at 20% standard, 5% reduced, 0% zero, exempt and no VAT, plus the construction
industry's domestic reverse charge (`20.0% RC CIS`: on purchases QBO books the 20% input VAT
and the same amount as output VAT, so the supplier is owed the net only); Australia's GST
and GST-free. Outside the US tax is computed line by line, each line's tax at each rate
rounded half up to the cent (compute.py); in the US the tax group applies to the taxable sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# A Joist region (the packs' `qbo_region` param) -> CompanyInfo.Country as QBO reports it.
COUNTRY = {"US": "US", "CA": "CA", "UK": "GB", "AU": "AU"}
# CompanyInfo.Country -> the home currency (code, name).
CURRENCY = {
    "US": ("USD", "United States Dollar"),
    "AU": ("AUD", "Australian Dollar"),
    "CA": ("CAD", "Canadian Dollar"),
    "GB": ("GBP", "British Pound Sterling"),
}
# CompanyInfo.Country -> (city, CountrySubDivisionCode, PostalCode) of the demo company.
ADDRESS = {
    "US": ("Oakland", "CA", "94607"),
    "AU": ("Sydney", "NSW", "2000"),
    "CA": ("Toronto", "ON", "M5H 2N2"),
    "GB": ("London", "", "EC1A 1BB"),
}


@dataclass(frozen=True)
class Rate:
    """A TaxRate: its name, percent and the agency it is paid to."""

    name: str
    percent: Decimal
    agency: str


@dataclass(frozen=True)
class Code:
    """A TaxCode: the rates it charges on sales and on purchases (by rate name)."""

    name: str
    description: str
    taxable: bool
    sales: tuple[str, ...]
    purchases: tuple[str, ...]


@dataclass(frozen=True)
class TaxSetup:
    """A region's tax agencies (name -> tracked on sales, on purchases), rates and codes."""

    agencies: dict[str, tuple[bool, bool]]
    rates: tuple[Rate, ...]
    codes: tuple[Code, ...]
    group: bool  # True where codes are tax groups (US, AU); False where each rate is listed on its own


def _rates(*rows: tuple[str, str, str]) -> tuple[Rate, ...]:
    return tuple(Rate(name, Decimal(percent), agency) for name, percent, agency in rows)


CDTFA = "California Department of Tax and Fee Administration"
ATO = "Australian Taxation Office"
CRA = "Canada Revenue Agency"
BC = "Ministry of Finance (BC)"
RQ = "Revenu Quebec"
HMRC = "HM Revenue & Customs"

TAX: dict[str, TaxSetup] = {
    "US": TaxSetup(
        agencies={CDTFA: (True, False)},
        rates=_rates(("California", "7.25", CDTFA), ("Alameda County", "2", CDTFA)),
        codes=(Code("Alameda", "Alameda County sales tax", True, ("California", "Alameda County"), ()),),
        group=True,
    ),
    "AU": TaxSetup(
        agencies={ATO: (True, True)},
        rates=_rates(
            ("GST (sales)", "10", ATO),
            ("GST (purchases)", "10", ATO),
            ("FRE (sales)", "0", ATO),
            ("FRE (purchases)", "0", ATO),
        ),
        codes=(
            Code("GST", "GST", True, ("GST (sales)",), ("GST (purchases)",)),
            Code("FRE", "GST free", False, ("FRE (sales)",), ("FRE (purchases)",)),
        ),
        group=True,
    ),
    "CA": TaxSetup(
        agencies={CRA: (True, True), BC: (True, False), RQ: (True, True)},
        rates=_rates(
            ("GST", "5", CRA),
            ("HST ON", "13", CRA),
            ("HST NS", "15", CRA),
            ("PST BC", "7", BC),
            ("QST QC", "9.975", RQ),
            ("Zero-rated", "0", CRA),
        ),
        codes=(
            Code("GST", "Federal goods and services tax", True, ("GST",), ("GST",)),
            Code("HST ON", "Harmonized federal and Ontario provincial tax", True, ("HST ON",), ("HST ON",)),
            Code("HST NS", "Harmonized federal and Nova Scotia provincial tax", True, ("HST NS",), ("HST NS",)),
            Code("GST/PST BC", "Federal and provincial tax (BC)", True, ("GST", "PST BC"), ("GST", "PST BC")),
            Code("GST/QST QC", "Federal and Quebec provincial tax", True, ("GST", "QST QC"), ("GST", "QST QC")),
            Code("Z", "Zero-rated", True, ("Zero-rated",), ("Zero-rated",)),
            Code("E", "Tax-exempt", False, (), ()),
        ),
        group=False,
    ),
    "GB": TaxSetup(
        agencies={HMRC: (True, True)},
        rates=_rates(
            ("20.0% S (sales)", "20", HMRC),
            ("20.0% S (purchases)", "20", HMRC),
            ("5.0% R (sales)", "5", HMRC),
            ("5.0% R (purchases)", "5", HMRC),
            ("0.0% Z (sales)", "0", HMRC),
            ("0.0% Z (purchases)", "0", HMRC),
            ("20.0% RC CIS (sales)", "0", HMRC),
            ("20.0% RC CIS (input)", "20", HMRC),
            ("20.0% RC CIS (output)", "-20", HMRC),
        ),
        codes=(
            Code("20.0% S", "Standard rate VAT", True, ("20.0% S (sales)",), ("20.0% S (purchases)",)),
            Code("5.0% R", "Reduced rate VAT", True, ("5.0% R (sales)",), ("5.0% R (purchases)",)),
            Code("0.0% Z", "Zero rate VAT", True, ("0.0% Z (sales)",), ("0.0% Z (purchases)",)),
            Code("Exempt", "Exempt from VAT", False, (), ()),
            Code("No VAT", "Outside the scope of VAT", False, (), ()),
            Code(
                "20.0% RC CIS",
                "Domestic reverse charge for construction services (CIS)",
                True,
                ("20.0% RC CIS (sales)",),
                ("20.0% RC CIS (input)", "20.0% RC CIS (output)"),
            ),
        ),
        group=False,
    ),
}
