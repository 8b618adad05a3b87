# Workers over time of the autotuned changing-consumer run (autotune_grid.sh writes the data and calls this):
#   gnuplot -e "data='WORK/consumer-timeline.dat'; out='WORK/autotune_consumer.svg'; phase=15" autotune_plot.gp
if (!exists("phase")) phase = 15
set terminal svg size 1100,520 dynamic font "sans,11" background "white"
set output out
set title sprintf("bench latency --latency-ms 2 --workers auto: step 4 ms/batch, 8 ms from %d s, 2 ms from %d s", phase, 2 * phase)
set xlabel "seconds"
set ylabel "workers, prefetch"
set y2label "samples/s"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
set grid
set arrow from phase, graph 0 to phase, graph 1 nohead dt 2 lc rgb "gray40"
set arrow from 2 * phase, graph 0 to 2 * phase, graph 1 nohead dt 2 lc rgb "gray40"
plot data using 1:4 with steps lw 2 lc rgb "#1f77b4" title "workers", \
     data using 1:5 with steps lw 1 lc rgb "#2ca02c" title "prefetch", \
     data using 1:2 axes x1y2 with lines lw 1 lc rgb "#ff7f0e" title "samples/s (250 ms)", \
     data using 1:8 axes x1y2 with lines dt 3 lw 2 lc rgb "#d62728" title "best fixed configuration (its phase)"
