"""The import template: a "Customers" sheet with the headers, three sample rows and a region
dropdown, and an "Instructions" sheet with every column's rules and accepted header texts.

Everything it says comes from the rules themselves (users.models lengths, users.excel.columns
headers and aliases, settings), so the template cannot drift from what the import accepts.
"""

from collections.abc import Iterable
from typing import IO

from django.conf import settings
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from users import models as m
from users.excel.columns import ALIASES, REQUIRED_FIELDS, TEMPLATE_HEADERS, column_letter
from users.excel.writing import xlsx_cell
from users.models import Region, UserType

FILENAME = "customer-import-template.xlsx"
SHEET_TITLE = "Customers"
INSTRUCTIONS_TITLE = "Instructions"

# Valid, distinct from each other, and showing the accepted variety: a given mark and a blank
# one (generated), local and international phone formats, a region by name, a blank email.
SAMPLE_ROWS: list[dict[str, str]] = [
    {
        "shipping_mark": "PM 1 KWAME",
        "first_name": "Kwame",
        "last_name": "Mensah",
        "email": "kwame.mensah@example.com",
        "phone": "0241000001",
        "region": "Greater Accra",
        "company_name": "Mensah Trading",
        "nickname": "KM",
        "user_type": "Business",
    },
    {
        "shipping_mark": "",
        "first_name": "Ama",
        "last_name": "Owusu",
        "email": "ama.owusu@example.com",
        "phone": "0551000002",
        "region": "Ashanti",
        "company_name": "",
        "nickname": "",
        "user_type": "",
    },
    {
        "shipping_mark": "PM 1 KOFI",
        "first_name": "Kofi",
        "last_name": "Boateng",
        "email": "",
        "phone": "+233 20 100 0003",
        "region": "North East",
        "company_name": "Boateng Logistics",
        "nickname": "Kofi B",
        "user_type": "Individual",
    },
]

# Column widths, shared with the export (same columns).
COLUMN_WIDTHS = {
    "shipping_mark": 18,
    "first_name": 16,
    "last_name": 16,
    "email": 30,
    "phone": 18,
    "region": 18,
    "company_name": 26,
    "nickname": 16,
    "user_type": 16,
}
# The last row a sheet can have: the dropdown covers every row a user may fill.
_LAST_ROW = 1_048_576
# Excel's limit for a list typed into a validation rule (not a range).
LIST_LIMIT = 255


def list_formula(labels: Iterable[str]) -> str:
    """A dropdown's choices as an inline list."""
    formula = '"' + ",".join(labels) + '"'
    if len(formula) - 2 > LIST_LIMIT:
        raise ValueError("The choices no longer fit an inline list.")
    return formula


def region_list_formula() -> str:
    """The region dropdown's choices: every region's name."""
    return list_formula(label for _code, label in Region.choices)


def column_rules() -> dict[str, str]:
    """What each column accepts, in words."""
    prefix = settings.SHIPPING_MARK_PREFIX
    default_region = Region(settings.DEFAULT_REGION).label
    return {
        "shipping_mark": (
            f"{m.SHIPPING_MARK_MIN}-{m.SHIPPING_MARK_MAX} characters: letters, digits, spaces and"
            " - / . # & ( ), starting with a letter or digit. Stored upper-case; unique, ignoring"
            f" case and spacing. Left blank, one is made from the first name: {prefix} KWAME,"
            f" then {prefix} KWAME02, {prefix} KWAME03... when taken."
        ),
        "first_name": f"At most {m.FIRST_NAME_MAX} characters.",
        "last_name": f"At most {m.LAST_NAME_MAX} characters.",
        "email": (
            f"A valid address, at most {m.EMAIL_MAX} characters. Stored lower-case; unique,"
            " ignoring case. May be left blank."
        ),
        "phone": (
            "Any usual way of writing the number: 0241234567, 241234567, +233 24 123 4567 or"
            f" 233241234567 are the same customer (numbers without a country code are read as"
            f" {settings.PHONE_DEFAULT_REGION}); other countries with + and the country code."
            " Unique."
        ),
        "region": (
            "A region of Ghana, by name (Greater Accra) or code (GREATER_ACCRA), in any case:"
            f" pick it from the list. Left blank: {default_region}."
        ),
        "company_name": f"At most {m.COMPANY_NAME_MAX} characters.",
        "nickname": f"At most {m.NICKNAME_MAX} characters.",
        "user_type": (
            "Individual or Business (or the codes INDIVIDUAL, BUSINESS), in any case: pick it from"
            " the list. Left blank: Individual."
        ),
    }


def general_notes() -> list[str]:
    max_mb = settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)
    return [
        "One customer per row, below the header row. Keep the header row: columns may be in any"
        " order, and a header is recognised whatever its case, spacing or punctuation.",
        "Spaces around values are trimmed; control and text-direction characters are refused.",
        "A row whose phone, email or shipping mark belongs to an existing customer is reported"
        " and skipped; an existing customer is never changed.",
        f"At most {settings.IMPORT_MAX_ROWS:,} rows and {max_mb} MB per file: xlsx, xls, xlsb,"
        " ods or csv.",
        "After an import, the rows that were not created can be downloaded with the reason for"
        " each (errors.xlsx): fix them there and upload that file again.",
        "The sample rows are examples: replace them with your customers.",
    ]


def _customers_sheet(workbook: Workbook) -> None:
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.freeze_panes = "A2"
    for index, field in enumerate(TEMPLATE_HEADERS):
        dimension = sheet.column_dimensions[column_letter(index)]
        dimension.width = COLUMN_WIDTHS[field]
        if field == "phone":
            # Text, so that a number typed as 0241234567 keeps its leading zero.
            dimension.number_format = "@"
    _dropdown(
        sheet,
        "region",
        region_list_formula(),
        error="Pick a region of Ghana from the list (a region code such as NORTH_EAST also works).",
        prompt=f"Pick from the list; blank means {Region(settings.DEFAULT_REGION).label}.",
    )
    _dropdown(
        sheet,
        "user_type",
        list_formula(label for _code, label in UserType.choices),
        error="Pick Individual or Business.",
        prompt="Pick from the list; blank means Individual.",
    )
    sheet.append([xlsx_cell(sheet, text, header=True) for text in TEMPLATE_HEADERS.values()])
    for sample in SAMPLE_ROWS:
        sheet.append([xlsx_cell(sheet, sample[field]) for field in TEMPLATE_HEADERS])


def _dropdown(sheet: Worksheet, field: str, formula: str, *, error: str, prompt: str) -> None:
    """A list of choices on every data row of the field's column (a warning, not a refusal:
    the import accepts more spellings than the list shows)."""
    column = column_letter(list(TEMPLATE_HEADERS).index(field))
    title = TEMPLATE_HEADERS[field]
    dropdown = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        errorTitle=title,
        error=error,
        showInputMessage=True,
        promptTitle=title,
        prompt=prompt,
    )
    dropdown.add(f"{column}2:{column}{_LAST_ROW}")
    sheet.data_validations.append(dropdown)


def _instructions_sheet(workbook: Workbook) -> None:
    sheet = workbook.create_sheet(INSTRUCTIONS_TITLE)
    for letter, width in zip("ABCDE", (8, 16, 10, 90, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    rules = column_rules()
    headers = ["Column", "Header", "Required", "Rules", "Also accepted as the header"]
    sheet.append([xlsx_cell(sheet, text, header=True) for text in headers])
    for index, (field, header) in enumerate(TEMPLATE_HEADERS.items()):
        aliases = [alias for alias in ALIASES[field] if alias != header]
        row = [
            column_letter(index),
            header,
            "Yes" if field in REQUIRED_FIELDS else "No",
            rules[field],
            ", ".join(aliases),
        ]
        sheet.append([xlsx_cell(sheet, value) for value in row])
    sheet.append([])
    sheet.append([xlsx_cell(sheet, "Notes", header=True)])
    for note in general_notes():
        sheet.append([None, xlsx_cell(sheet, note)])
    sheet.append([])
    sheet.append([xlsx_cell(sheet, text, header=True) for text in ("Regions", "Code", "", "Name")])
    for code, label in Region.choices:
        sheet.append([None, xlsx_cell(sheet, code), None, xlsx_cell(sheet, label)])


def write_template(target: IO[bytes] | str) -> None:
    """Writes the template workbook to a path or a binary file."""
    workbook = Workbook(write_only=True)
    _customers_sheet(workbook)
    _instructions_sheet(workbook)
    workbook.save(target)
