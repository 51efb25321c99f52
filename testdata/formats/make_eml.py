#!/usr/bin/python3
"""Writes formats/survey.eml with Python's email package: a reply with a non-ASCII
subject (an RFC 2047 encoded word), a plain text and an HTML alternative body
(quoted-printable), and the workbook budget.xlsx attached. Run from testdata/formats/:
/usr/bin/python3 make_eml.py"""
from email.message import EmailMessage
from email.utils import format_datetime
import datetime

msg = EmailMessage()
msg["From"] = "Mariana Duarte <m.duarte@example.org>"
msg["To"] = "Survey team <survey@example.org>, Jörg Keller <j.keller@example.org>"
msg["Cc"] = "archive@example.org"
msg["Subject"] = "Re: Zählung am Mühlwehr — spring results"
msg["Date"] = format_datetime(datetime.datetime(2026, 4, 2, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))))
msg["Message-ID"] = "<survey-2026-04@example.org>"
msg.set_content(
    "Hello all,\n\n"
    "the spring count is done: forty-two herons near the old mill and thirteen at the weir.\n"
    "The river rose by half a metre overnight, so the mill site was flooded on the second day.\n\n"
    "The budget for the June count is attached.\n\n"
    "Mariana\n", cte="quoted-printable")
msg.add_alternative(
    "<html><body><p>Hello all,</p><p>the spring count is done: <b>forty-two herons</b> near the old mill "
    "and thirteen at the weir.</p><p>The budget for the June count is attached.</p><p>Mariana</p></body></html>",
    subtype="html", cte="quoted-printable")
with open("budget.xlsx", "rb") as f:
    msg.add_attachment(f.read(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="budget.xlsx")
with open("survey.eml", "wb") as f:
    f.write(bytes(msg))
