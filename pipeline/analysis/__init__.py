"""What the results say: readers of histories, metrics and predictions (`results`), statistics
over seeds with their intervals and tests (`statistics`), confusion counts and the mistakes they
rank (`confusion`), the quality gates against the course's figures (`gates`), and where a model
looks: Grad-CAM and top activations (`attention`)."""
