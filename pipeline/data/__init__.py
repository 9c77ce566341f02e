"""Fashion-MNIST: facts about its files (`fashion_mnist`), reading IDX files safely (`idx`), where
the files come from (`sources`), and the prepared arrays with their stratified samples (`arrays`)."""
