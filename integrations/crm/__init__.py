"""CRM connectors (HubSpot, Salesforce): customer and contact sync, expense write-back."""
