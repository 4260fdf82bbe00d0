"""Pure text code: masking personal data, abusive terms, near copies. No Flask, no SQL."""
