"""The files written and read: exports with their metadata, layered PSD/ORA, projects, the result journal."""
