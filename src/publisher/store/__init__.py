"""Where subscribers, campaigns and deliveries are kept."""
