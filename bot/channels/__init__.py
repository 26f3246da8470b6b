"""Channel adapters. Platform SDK types never leave bot/channels/<name>.py."""
