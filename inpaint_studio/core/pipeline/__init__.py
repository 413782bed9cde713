"""The generation pipeline: the request and its parameters, the provider protocol, jobs, the crop sent and the composite returned."""
