#!/usr/bin/python3
"""Writes formats/budget.xlsx with openpyxl (Debian's python3-openpyxl): two sheets with a
header row, numbers in several number formats, dates and a date-time, booleans, a
percentage, Unicode text, an empty cell and a formula (openpyxl stores formulas without a
cached value, as a file that was never opened in a spreadsheet program). Run from
testdata/formats/: python3 make_xlsx.py"""
import datetime
import openpyxl

wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Budget 2026"
ws.append(["Item", "Amount", "Share", "Due", "Paid", "Note"])
rows = [
    ("Rent", 12500.5, 0.4167, datetime.date(2026, 1, 31), True, "paid by transfer"),
    ("Équipement", 3200, 0.1066, datetime.date(2026, 3, 15), False, "desks, chairs; 6 of each"),
    ("Travel", 980.25, 0.0327, datetime.datetime(2026, 6, 1, 14, 30), True, None),
]
for r in rows:
    ws.append(list(r))
for row in ws.iter_rows(min_row=2, max_row=4):
    row[1].number_format = "#,##0.00"
    row[2].number_format = "0.0%"
    row[3].number_format = "yyyy-mm-dd" if not isinstance(row[3].value, datetime.datetime) else "yyyy-mm-dd hh:mm"
ws.append(["Total", "=SUM(B2:B4)"])
notes = wb.create_sheet("Notes")
notes.append(["Topic", "Text"])
notes.append(["Scope", "Office costs for the Zürich team — all figures in CHF."])
notes.append(["Review", "Quarterly; next review on the first Monday of April."])
notes["D5"] = "A stray cell far from the others"
wb.save("budget.xlsx")
