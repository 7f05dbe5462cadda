"""Notify: the alert outbox and who hears what (alerts), and reminders of reports due (reminders)."""
