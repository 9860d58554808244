"""What an organisation's admin sets for its tickets: queues and detection rules."""
