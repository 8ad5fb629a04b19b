"""antrea-ci: Dagger pipelines that build, test and publish Antrea's images."""
