# R NMF's rank survey on esGolub, the reference for experiments/study_rank_golub.yaml:
#   Rscript tools/r_nmf_rank_survey.R OUT_DIR     (Debian's r-cran-nmf; about 25 min on 2 cores)
# Prints the wall time, the cophenetic correlation and dispersion at k = 2..6, and writes each rank's
# consensus clusters to OUT_DIR/r_cluster_<k>.tsv (compare them with tools/rank_classes.py's counts).
# Every run is kept ("k" in .opt) so that the iterations at which brunet's connectivity rule stopped
# each run can be printed beside nmfx's (stopping: {connectivity: {every: 10, unchanged: 41}}).
suppressMessages(library(NMF))
out <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(out)) out <- "."
data(esGolub)
t0 <- proc.time()
est <- nmfEstimateRank(esGolub, 2:6, method = "brunet", nrun = 30, seed = 123456, .opt = "vp2k")
cat("elapsed", (proc.time() - t0)[["elapsed"]], "\n")
print(est$measures[, c("rank", "cophenetic", "dispersion", "residuals")])
for (k in names(est$fit)) {
  iters <- sapply(est$fit[[k]], niter)
  cat("rank", k, "iterations per run: mean", mean(iters), "min", min(iters), "max", max(iters), "\n")
  cl <- predict(est$fit[[k]], what = "consensus")
  write.table(data.frame(sample = sampleNames(esGolub), cluster = as.integer(cl), ALL.AML = esGolub$ALL.AML,
                         Cell = esGolub$Cell), file.path(out, paste0("r_cluster_", k, ".tsv")), sep = "\t",
              row.names = FALSE, quote = FALSE)
}
