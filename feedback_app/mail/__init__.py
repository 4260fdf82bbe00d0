"""Mail to residents: an outbox written with each change, delivered by workers over SMTP.

outbox.py writes messages (in the transaction of the change that causes them) and keeps the rules
about who may be written to; messages.py makes a message's text in its reader's language;
delivery.py sends, retries and sweeps; links.py makes the links a message carries.
"""
