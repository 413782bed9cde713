"""The document, the editing session that changes it, and opening, saving and crash recovery."""
