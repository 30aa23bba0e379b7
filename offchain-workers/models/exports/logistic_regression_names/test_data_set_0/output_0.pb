2	virginica2
versicolor2
versicolor2
versicolorBlabel