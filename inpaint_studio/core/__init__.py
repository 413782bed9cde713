"""The editor's Qt-free core, in layers that import only downwards:

- the root modules: errors, sanitised text, events and signals, undo, settings, atomic files;
- :mod:`.pixels`: decoding and validating photos and masks, and the mask's editing tools;
- :mod:`.pipeline`: the request and its parameters, the provider protocol, jobs, the crop
  sent and the composite returned;
- :mod:`.formats`: the files written and read: exports, layered PSD/ORA, projects, the
  result journal;
- :mod:`.document`: the document, the editing session that changes it, opening, saving and
  crash recovery.
"""
