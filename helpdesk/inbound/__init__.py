"""Inbound email: parsing raw messages, screening out automatic mail, finding the new words of a reply,
and the ways mail comes in (IMAP polling, providers' webhooks). No database writes here: the service
`helpdesk.services.inbound_email` stores and turns messages into tickets.
"""
