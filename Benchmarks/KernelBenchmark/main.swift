print("kernel benchmark")
