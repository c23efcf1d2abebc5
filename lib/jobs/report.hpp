#pragma once
// Self-contained HTML reports (`macrodyn report DIR`, and at the end of run, train,
// evaluate and study): one file, DIR/report.html, that opens on a laptop without the
// files beside it or a network. It is rebuilt from the directory's files only:
//   model.json              configuration and provenance of a model
//   recipe.txt, config.ini  the settings it was made with
//   metrics.csv             an online run's SDE loss per step (step,loss,lr,...), or an
//                           evaluation's metrics ('#' lines first): a table
//   history.csv             train's SDE losses per epoch (epoch,train,val,lr)
//   ae_history.csv          the autoencoder's loss per epoch (epoch,bce)
//   verdict.txt             the verdict (jobs/verdict.hpp), warnings highlighted
//   *.gp + *.dat            plots left by macro/plot (band plots, study curves):
//                           re-rendered with gnuplot's svg terminal
//   *.csv (studies)         tables
// and the same in the subdirectory verdict/ (a run's evaluation). Figures are embedded
// as data: URIs (gnuplot's inline SVGs repeat element ids, so they are not inlined).
#include <string>

namespace macrodyn::jobs {

// Writes DIR/report.html and returns its path. FileError when DIR holds nothing to
// report or the report cannot be written; a figure gnuplot cannot draw is left out
// with a note in the report.
std::string write_report(const std::string& dir);

}  // namespace macrodyn::jobs
