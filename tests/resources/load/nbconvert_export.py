#!/usr/bin/env python
# coding: utf-8

# # Backpropagation
# Samples are stacked in columns.

# In[1]:


import numpy as np
import MNISTtools


# In[12]:


def relu(a):
    return a * (a > 0)


# ## Softmax

# In[ ]:


def softmax(a):
    e = np.exp(a - a.max(axis=0))
    return e / e.sum(axis=0)
