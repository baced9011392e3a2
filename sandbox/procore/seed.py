"""The seeded demo company of the Procore sandbox: a small general contractor.

Three active projects with sub jobs (and one inactive), a directory of vendors (one of
them the owner on the prime contract, one inactive), employees and workers, departments,
cost codes in two tiers with cost types and their budget (WBS) codes, tax codes, a prime
contract with a change order and an owner invoice (not paid yet), commitments
(subcontracts and a purchase order) with a change order, subcontractor invoices and a
payment issued, direct costs of every type, and this week's timecards.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandbox.procore import billing
from sandbox.procore.box import Box
from sandbox.procore.resources import RESOURCES

Record = dict[str, Any]


class _Seeder:
    def __init__(self, box: Box) -> None:
        self.box = box
        self.store = box.store
        self.company_id = box.company_id

    def add(self, resource: str, project_id: int | None = None, **data: Any) -> Record:
        return self.store.insert(RESOURCES[resource], data, company_id=self.company_id, project_id=project_id)

    def line(self, holder_type: str, holder: Record, position: int, **data: Any) -> Record:
        data.update(holder_type=holder_type, holder_id=holder["id"], position=position)
        return self.add("line_items", holder.get("project_id"), **data)


def seed_demo(box: Box) -> None:
    """Fill an empty sandbox with the demo company."""
    s = _Seeder(box)
    store = box.store
    store.companies[box.company_id] = {
        "id": box.company_id,
        "name": "Joist Demo Builders",
        "is_active": True,
        "logo_url": None,
        "my_company": True,
        "pcn_business_experience": False,
    }
    store.companies[box.company_id + 1] = {
        "id": box.company_id + 1,
        "name": "Another General Contractor",
        "is_active": True,
        "logo_url": None,
        "my_company": False,
        "pcn_business_experience": False,
    }
    demo = s.add(
        "users",
        first_name="Dana",
        last_name="Builder",
        email_address="dana@joist.example",
        job_title="Project Accountant",
        is_employee=True,
        employee_id="E-001",
    )
    box.demo_user_id = demo["id"]
    workers = [
        s.add(
            "users",
            first_name=f,
            last_name=l,
            email_address=f"{f.lower()}@joist.example",
            job_title=t,
            is_employee=True,
            employee_id=e,
        )
        for f, l, t, e in (
            ("Luis", "Ortega", "Superintendent", "E-002"),
            ("Priya", "Shah", "Carpenter", "E-003"),
            ("Tom", "Becker", "Laborer", "E-004"),
        )
    ]
    people = [
        s.add(
            "people",
            first_name=u["first_name"],
            last_name=u["last_name"],
            is_employee=True,
            employee_id=u["employee_id"],
            user_id=u["id"],
        )
        for u in [demo, *workers]
    ]
    people.append(
        s.add("people", first_name="Ana", last_name="Reyes", is_employee=True, employee_id="E-005", user_id=None)
    )
    commercial = s.add("departments", name="Commercial")
    residential = s.add("departments", name="Residential")
    kinds = {
        code: s.add("line_item_types", name=name, code=code, base_type=base)
        for code, name, base in (
            ("L", "Labor", "labor"),
            ("M", "Materials", "materials"),
            ("E", "Equipment", "equipment"),
            ("S", "Subcontract", "commitment"),
            ("O", "Other", "other"),
        )
    }
    tax = s.add("tax_codes", code="TX8", description="Sales tax 9.25% (Alameda County)", rate1=Decimal("9.25"))
    s.add("tax_codes", code="EXEMPT", description="Tax exempt", rate1=Decimal("0"))
    s.add("tax_types", name="Sales Tax", description="State and local sales tax")
    vendors = {
        key: s.add(
            "vendors",
            name=name,
            abbreviated_name=abbr,
            email_address=email,
            business_phone=phone,
            address=street,
            city=city,
            state_code="CA",
            zip=zip_code,
            website=site,
            trade_name=name,
            legal_name=name,
            is_active=active,
        )
        for key, name, abbr, email, phone, street, city, zip_code, site, active in (
            (
                "concrete",
                "Summit Concrete LLC",
                "SUMC",
                "ap@summitconcrete.example",
                "415-555-0101",
                "12 Quarry Rd",
                "Oakland",
                "94607",
                "https://summitconcrete.example",
                True,
            ),
            (
                "electric",
                "Bright Electric Co",
                "BREL",
                "billing@brightelectric.example",
                "415-555-0102",
                "88 Volt Ave",
                "San Jose",
                "95112",
                None,
                True,
            ),
            (
                "lumber",
                "Redwood Lumber Supply",
                "RWLS",
                "orders@redwoodlumber.example",
                "707-555-0103",
                "400 Mill St",
                "Santa Rosa",
                "95401",
                None,
                True,
            ),
            (
                "equipment",
                "Apex Equipment Rental",
                "APEX",
                "rentals@apex.example",
                "510-555-0104",
                "9 Crane Way",
                "Hayward",
                "94545",
                None,
                True,
            ),
            (
                "plumbing",
                "Clearwater Plumbing",
                "CLWP",
                "office@clearwater.example",
                "650-555-0105",
                "71 Pipe Ln",
                "Redwood City",
                "94063",
                None,
                True,
            ),
            (
                "owner",
                "Northside Development Corp",
                "NSDC",
                "payables@northside.example",
                "415-555-0106",
                "1 Market St",
                "San Francisco",
                "94105",
                "https://northside.example",
                True,
            ),
            (
                "steel",
                "Harbor Steel Works",
                "HSW",
                "ar@harborsteel.example",
                "510-555-0107",
                "3 Dock St",
                "Richmond",
                "94801",
                None,
                True,
            ),
            (
                "roofing",
                "Old Mill Roofing",
                "OMR",
                "info@oldmill.example",
                "707-555-0108",
                "5 Shingle Ct",
                "Napa",
                "94558",
                None,
                False,
            ),
        )
    }
    today = dt.datetime.fromtimestamp(box.control.clock.now(), dt.UTC).date()
    projects = []
    for number, name, dept, jobs, city, active in (
        (
            "2024-001",
            "Riverside Medical Office",
            commercial,
            ["Phase 1 - Shell", "Phase 2 - Fit-out"],
            "Sacramento",
            True,
        ),
        ("2024-002", "Maple Street Townhomes", residential, ["Building A", "Building B"], "Davis", True),
        ("2024-003", "Harbor Warehouse Expansion", commercial, ["Site Work"], "Richmond", True),
        ("2023-017", "Legacy Retail Remodel", commercial, [], "Fresno", False),
    ):
        project = s.add(
            "projects",
            name=name,
            project_number=number,
            department_ids=[dept["id"]],
            city=city,
            state_code="CA",
            address="100 Main St",
            zip="95814",
            active=active,
            start_date="2024-01-15",
            completion_date="2025-06-30",
            total_value=Decimal("1500000"),
            stage="Course of Construction" if active else "Completed",
        )
        for n, job in enumerate(jobs):
            s.add("sub_jobs", project["id"], name=job, code=f"{n + 1:02d}")
        codes: dict[str, Record] = {}
        for division, division_name, children in (
            ("01", "General Requirements", (("100", "Supervision", "LO"), ("200", "Temporary Facilities", "EMO"))),
            ("03", "Concrete", (("300", "Cast-in-Place Concrete", "SMLE"),)),
            ("06", "Wood and Plastics", (("100", "Rough Carpentry", "MLS"),)),
            ("16", "Electrical", (("100", "Power Distribution", "SMO"),)),
        ):
            parent = s.add("cost_codes", project["id"], code=division, name=division_name, position=int(division))
            for code, code_name, types in children:
                child = s.add(
                    "cost_codes",
                    project["id"],
                    code=code,
                    name=code_name,
                    parent_id=parent["id"],
                    line_item_type_ids=[kinds[t]["id"] for t in types],
                    position=int(code),
                )
                codes[f"{division}-{code}"] = child
                for t in types:
                    s.add(
                        "wbs_codes",
                        project["id"],
                        cost_code_id=child["id"],
                        line_item_type_id=kinds[t]["id"],
                        flat_code=f"{division}-{code}.{t}",
                        flat_name=f"{code_name}.{kinds[t]['name']}",
                        description=f"{code_name} - {kinds[t]['name']}",
                    )
        projects.append((project, codes))

    def wbs(project: Record, flat: str) -> int:
        return store.rows("wbs_codes", project_id=project["id"], flat_code=flat)[0]["id"]

    p1, c1 = projects[0]
    prime = s.add(
        "prime_contracts",
        p1["id"],
        number="PC-001",
        title="Riverside Medical Office - Prime Contract",
        status="Approved",
        executed=True,
        retainage_percent=Decimal("10"),
        vendor_id=vendors["owner"]["id"],
        contract_date="2024-01-10",
        contract_start_date="2024-01-15",
        contract_estimated_completion_date="2025-06-30",
    )
    for n, (flat, desc, amount) in enumerate(
        (
            ("01-100.L", "General conditions and supervision", "120000.00"),
            ("03-300.S", "Foundations and slab on grade", "450000.00"),
            ("16-100.S", "Electrical distribution", "310000.00"),
        )
    ):
        code = flat.split(".")[0]
        s.line(
            "PrimeContract",
            prime,
            n + 1,
            description=desc,
            amount=Decimal(amount),
            quantity=Decimal("1"),
            unit_cost=Decimal(amount),
            uom="LS",
            cost_code_id=c1[code]["id"],
            wbs_code_id=wbs(p1, flat),
            line_item_type_id=kinds[flat[-1]]["id"],
            tax_code_id=None,
        )
    pco = s.add(
        "prime_change_orders",
        p1["id"],
        contract_id=prime["id"],
        number="PCO-001",
        title="Added footing at grid C",
        status="approved",
        executed=True,
        due_date="2024-04-01",
    )
    s.line(
        "PrimeChangeOrder",
        pco,
        1,
        description="Additional footing",
        amount=Decimal("25000.00"),
        cost_code_id=c1["03-300"]["id"],
        wbs_code_id=wbs(p1, "03-300.S"),
        line_item_type_id=kinds["S"]["id"],
    )
    app = s.add(
        "payment_applications",
        p1["id"],
        prime_contract_id=prime["id"],
        number=1,
        invoice_number="NSDC-2024-01",
        billing_date="2024-03-31",
        period_start="2024-03-01",
        period_end="2024-03-31",
        status="approved",
    )
    app["items"] = billing.initial_items(store, "PrimeContract", prime["id"])
    for item, done in zip(app["items"], ("30000.00", "150000.00", "50000.00")):
        item["work_completed_this_period"] = Decimal(done)
    # No payment received yet: the owner's payments are recorded in QBO and reach Procore
    # from there (a payment keyed into Procore alone would leave the two books apart).

    commitments = []
    commitment_specs: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str, str | None], ...]], ...] = (
        (
            "work_order_contracts",
            "SC-001",
            "concrete",
            "Approved",
            "10",
            (("03-300.S", "Concrete package", "380000.00"),),
        ),
        (
            "work_order_contracts",
            "SC-002",
            "electric",
            "Approved",
            "10",
            (("16-100.S", "Electrical package", "250000.00"),),
        ),
        ("purchase_order_contracts", "PO-001", "lumber", "Approved", "0", (("06-100.M", "Framing lumber", None),)),
    )
    for kind, number, vendor, status, retainage, lines in commitment_specs:
        contract = s.add(
            kind,
            p1["id"],
            number=number,
            title=f"{vendors[vendor]['name']} - {number}",
            vendor_id=vendors[vendor]["id"],
            status=status,
            executed=True,
            retainage_percent=Decimal(retainage),
            contract_date="2024-02-01",
        )
        holder = RESOURCES[kind].holder_type or ""
        for n, (flat, desc, line_amount) in enumerate(lines):
            extra: Record = (
                {
                    "amount": Decimal(line_amount),
                    "quantity": Decimal("1"),
                    "unit_cost": Decimal(line_amount),
                    "uom": "LS",
                }
                if line_amount
                else {
                    "amount": Decimal("18200.00"),
                    "quantity": Decimal("400"),
                    "unit_cost": Decimal("45.50"),
                    "uom": "EA",
                    "extended_type": "calculated",
                }
            )
            s.line(
                holder,
                contract,
                n + 1,
                description=desc,
                cost_code_id=c1[flat.split(".")[0]]["id"],
                wbs_code_id=wbs(p1, flat),
                line_item_type_id=kinds[flat[-1]]["id"],
                tax_amount=Decimal("0"),
                **extra,
            )
        commitments.append((contract, holder))
    (sc1, h1), (sc2, h2), _ = commitments
    cco = s.add(
        "commitment_change_orders",
        p1["id"],
        contract_id=sc1["id"],
        number="CCO-001",
        title="Added footing at grid C",
        status="approved",
        executed=True,
    )
    s.line(
        "CommitmentChangeOrder",
        cco,
        1,
        description="Additional footing",
        amount=Decimal("15000.00"),
        cost_code_id=c1["03-300"]["id"],
        wbs_code_id=wbs(p1, "03-300.S"),
        line_item_type_id=kinds["S"]["id"],
    )
    for contract, holder, status, done, invoice in (
        (sc1, h1, "approved", "120000.00", "SUMC-1001"),
        (sc2, h2, "under_review", "60000.00", "BREL-77"),
    ):
        req = s.add(
            "requisitions",
            p1["id"],
            commitment_id=contract["id"],
            commitment_type=holder,
            number=1,
            invoice_number=invoice,
            status=status,
            period_id=1,
            billing_date="2024-03-31",
            requisition_start="2024-03-01",
            requisition_end="2024-03-31",
        )
        req["items"] = billing.initial_items(store, holder, contract["id"])
        req["items"][0]["work_completed_this_period"] = Decimal(done)
    first_req = store.rows("requisitions", commitment_id=sc1["id"])[0]
    s.add(
        "contract_payments",
        p1["id"],
        contract_id=sc1["id"],
        requisition_id=first_req["id"],
        amount=Decimal("108000.00"),
        date="2024-04-25",
        invoice_number="SUMC-1001",
        check_number="2201",
        payment_method="check",
    )
    p2, c2 = projects[1]
    sc3 = s.add(
        "work_order_contracts",
        p2["id"],
        number="SC-101",
        title="Clearwater Plumbing - SC-101",
        vendor_id=vendors["plumbing"]["id"],
        status="Draft",
        retainage_percent=Decimal("5"),
    )
    s.line(
        "WorkOrderContract",
        sc3,
        1,
        description="Plumbing rough-in",
        amount=Decimal("96500.00"),
        cost_code_id=c2["16-100"]["id"],
        wbs_code_id=wbs(p2, "16-100.S"),
        line_item_type_id=kinds["S"]["id"],
    )

    cost_specs: tuple[
        tuple[
            Record, dict[str, Record], str, str | None, Record | None, str | None, tuple[tuple[str, str, str, str], ...]
        ],
        ...,
    ] = (
        (p1, c1, "invoice", "equipment", None, "AE-5521", (("01-200", "E", "Scissor lift rental", "2400.00"),)),
        (
            p1,
            c1,
            "expense",
            None,
            None,
            None,
            (("01-200", "M", "Safety supplies", "356.78"), ("01-200", "O", "Site signage", "129.99")),
        ),
        (p1, c1, "payroll", None, workers[1], None, (("01-100", "L", "Week 12 payroll", "3120.00"),)),
        (p2, c2, "invoice", "lumber", None, "RL-88", (("06-100", "M", "Decking boards", "5230.10"),)),
    )
    for project, codes, cost_type, payee, employee, invoice_no, cost_lines in cost_specs:
        cost = s.add(
            "direct_costs",
            project["id"],
            direct_cost_type=cost_type,
            vendor_id=payee and vendors[payee]["id"],
            employee_id=employee and employee["id"],
            invoice_number=invoice_no,
            status="approved",
            direct_cost_date="2024-03-20",
            received_date="2024-03-21",
            description=cost_lines[0][2],
        )
        for n, (code, t, desc, amount) in enumerate(cost_lines):
            s.line(
                "DirectCost",
                cost,
                n + 1,
                description=desc,
                amount=Decimal(amount),
                quantity=Decimal("1"),
                unit_cost=Decimal(amount),
                uom="LS",
                cost_code_id=codes[code]["id"],
                wbs_code_id=wbs(project, f"{code}.{t}"),
                line_item_type_id=kinds[t]["id"],
                tax_code_id=tax["id"] if cost_type == "expense" else None,
            )

    for offset in (0, 1):
        day = (today - dt.timedelta(days=offset)).isoformat()
        sheet = s.add("timesheets", p1["id"], date=day, number=offset + 1, name=f"Crew 1 - {day}", status="approved")
        for person, hours in zip(people[1:4], ("8.0", "7.5", "8.0")):
            s.add(
                "timecard_entries",
                p1["id"],
                date=day,
                hours=Decimal(hours),
                party_id=person["id"],
                cost_code_id=c1["01-100"]["id"],
                line_item_type_id=kinds["L"]["id"],
                timesheet_id=sheet["id"],
                description="Site supervision",
                time_in=f"{day}T07:00:00Z",
                time_out=f"{day}T15:30:00Z",
                lunch_time="30",
            )
