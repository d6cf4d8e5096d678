"""What tests and benchmarks share: real servers (SeaweedFS S3, a throwaway PostgreSQL database),
a SoftHSM2 token, and page factories drawn from :mod:`samples`."""
