"""The outline stage: the person's boundary and the anatomical points found on it.

    landmarks + segmentation mask + photo -> outline -> AnatomicalPoint per name -> metrics

Points are in the landmarks' frame (photo pixels, x right, y down), each with an uncertainty
and a status; metrics read them by name like landmarks. No metric logic here.
"""
