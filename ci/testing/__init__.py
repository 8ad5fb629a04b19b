"""Antrea's Go unit tests in containers: the run, its containers and its report."""
