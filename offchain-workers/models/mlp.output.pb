B
mlp_outputJÒ$®=Æú?@Æ>