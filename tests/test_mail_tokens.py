"""Signed reply tokens: mail finds its way back to its own ticket, and only to it."""

from helpdesk import mail_tokens


def test_reply_address_leads_back_to_the_ticket(settings):
    settings.HELPDESK = {"FROM_EMAIL": "Acme Support <help@acme.test>"}
    address = mail_tokens.reply_address(42)
    assert address.startswith("help+t42-") and address.endswith("@acme.test")
    assert mail_tokens.find_ticket_id(addresses=[f"Acme Support <{address}>"]) == 42


def test_a_forged_or_renumbered_token_attaches_to_nothing():
    token = mail_tokens.reply_token(42)
    signature = token.split("-", 1)[1]
    assert mail_tokens.ticket_id_from_token(token) == 42
    assert mail_tokens.ticket_id_from_token(f"t43-{signature}") is None
    flipped = ("b" if signature[0] == "a" else "a") + signature[1:]
    assert mail_tokens.ticket_id_from_token(f"t42-{flipped}") is None
    assert mail_tokens.find_ticket_id(addresses=[f"help+t43-{signature}@acme.test"], subject="Re: [#t43-x]") is None


def test_mail_systems_that_change_case_still_thread():
    token = mail_tokens.reply_token(7)
    assert mail_tokens.find_ticket_id(addresses=[f"HELP+{token.upper()}@ACME.TEST"]) == 7


def test_the_subject_tag_threads_when_the_address_lost_its_tag():
    subject = f"RE: AW: Where is my parcel? {mail_tokens.subject_tag(9)}"
    assert mail_tokens.find_ticket_id(addresses=["help@acme.test"], subject=subject) == 9


def test_signatures_depend_on_the_secret_key(settings):
    before = mail_tokens.reply_token(5)
    settings.SECRET_KEY = "another-installation-" + "x" * 40
    assert mail_tokens.reply_token(5) != before
    assert mail_tokens.ticket_id_from_token(before) is None
