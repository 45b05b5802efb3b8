"""The spreadsheet the admin page tests upload: every kind of row the preview sorts."""

from tests.excel import builders

HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region", "Notes"]
EXISTING_PHONE = "+233241000009"

# Excel rows 2 and 3 are created; 4 is invalid three times over; 5 is a customer already (its
# phone is EXISTING_PHONE, in a local format); 6 repeats row 2's phone.
ROWS = [
    ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241000001", "Ashanti", "vip"],
    ["PM SILVER", "Ama", "Owusu", "ama@example.com", "0241000002", "Volta", ""],
    ["PM BAD", "Kofi", "", "not-an-email", "12345", "Ashanti", ""],
    ["PM AGAIN", "Yaw", "Boateng", "yaw@example.com", "024 100 0009", "Central", ""],
    ["PM GOLD TWO", "Kwame", "Mensah", "kwame2@example.com", "+233241000001", "Ashanti", ""],
]
TO_CREATE = 2
INVALID_ROW = 4
EXISTING_ROW = 5
BATCH_ROW = 6


def mixed_xlsx() -> bytes:
    return builders.xlsx_bytes([HEADER, *ROWS])
