"""ViT Lab's own tooling: the course registry, the release pipeline and benchmarks."""
