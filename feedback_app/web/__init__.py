"""Web plumbing shared by every feature: security headers, input guard, errors, forms, URLs, pagination, languages."""
