# make demo's charts (gnuplot, Debian's gnuplot-nox), from the data files
# .ci/demo writes into dat:
#   gnuplot -e "dat='/tmp/x'; out='models/demo'" .ci/demo.gp
set terminal pngcairo size 900,540 font "DejaVu Sans,11" enhanced
set datafile separator " "
set key top left box opaque
set grid
set border 3
set tics nomirror

# ROC on a log false-positive axis: a risk team works at FPR 0.01%-1%
set output out . "/roc.png"
set title "ROC curve of the demo model (models/marketplace.json)" noenhanced
set xlabel "false-positive rate (share of ordinary orders flagged), log scale"
set ylabel "true-positive rate (share of abusive orders flagged)"
set ytics 0.05
set logscale x
set xrange [1e-5:1]
set yrange [0.8:1.005]
set format x "10^{%T}"
set key bottom right
plot dat . "/roc_heldout.dat" using 1:2 with lines linewidth 2.5 linecolor rgb "#1f77b4" \
       title "22-31 January: held-out days, scored in batch", \
     dat . "/roc_stream.dat" using 1:2 with lines linewidth 2.5 dashtype 2 linecolor rgb "#d62728" \
       title "1-3 February: streamed through risk.score_trigger" noenhanced
unset logscale x
set ytics autofreq
set format x "% h"
set key top left

# the dashboard: daily review and block rates, and the day's AUC
set output out . "/daily.png"
set title "Daily risk dashboard (marketplace.daily_risk)" noenhanced
set xdata time
set timefmt "%Y-%m-%d"
set format x "%d %b"
set xlabel ""
set xrange [*:*]
set autoscale xfix
set key outside bottom center horizontal
set ylabel "orders decided (%)"
set yrange [0:*]
set offsets 43200, 43200, 0, 0
set y2label "AUC of the day"
set y2range [0.99:1.0005]
set y2tics 0.002 nomirror
set style fill solid 0.8 border -1
set boxwidth 0.8 * 86400 absolute
plot dat . "/daily.dat" using 1:($2 + $3) with boxes linecolor rgb "#ff9f40" title "review", \
     dat . "/daily.dat" using 1:3 with boxes linecolor rgb "#d62728" title "block", \
     dat . "/daily.dat" using 1:4 axes x1y2 with linespoints linewidth 2 pointtype 7 pointsize 0.8 \
       linecolor rgb "#1f77b4" title "AUC (right axis)"
unset xdata
unset offsets
set autoscale x
unset y2tics
unset y2label
set format x "% h"

# the score distribution of ordinary and abusive orders
set output out . "/scores.png"
set title "Scores of every order, history and stream (50 bins)"
set xlabel "score"
set ylabel "orders, log scale"
set logscale y
set xrange [0:1]
set yrange [0.8:*]
set format y "10^{%T}"
set key inside top center horizontal
set arrow 1 from 0.3, graph 0 to 0.3, graph 1 nohead dashtype 3 linecolor rgb "#555555"
set arrow 2 from 0.8, graph 0 to 0.8, graph 1 nohead dashtype 3 linecolor rgb "#555555"
set label 1 "review 0.3" at 0.31, graph 0.75
set label 2 "block 0.8" at 0.81, graph 0.75
set style fill transparent solid 0.55 border -1
set boxwidth 0.02 absolute
plot dat . "/scores.dat" using 1:2 with boxes linecolor rgb "#1f77b4" title "ordinary orders", \
     dat . "/scores.dat" using 1:3 with boxes linecolor rgb "#d62728" title "abusive orders (labelled)"
