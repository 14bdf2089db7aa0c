"""The three middle platforms: application, data and AI. They serve every domain and know none."""
