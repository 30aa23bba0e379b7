2
versicolor2	virginica2setosa2
versicolorBlabel