"""What the stages read and write: their command lines (`cli`), the paths `dvc.yaml` declares and
the links between pages (`paths`), the names of models and the output paths made from them
(`names`), and the files inside the output folders (`outputs`)."""
