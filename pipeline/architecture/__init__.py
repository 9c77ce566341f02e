"""What a declared network is, in arithmetic, without TensorFlow at import: how a key of params.yaml
or a layer's argument is declared and checked (`arguments`), every layer type with
its arguments, Keras layer, output shape and label (`layers`), output-size and receptive-field
arithmetic (`shapes`), the training memory estimate (`memory`), and convolution and pooling
written out in NumPy as the course's lab does them (`convolution`)."""
