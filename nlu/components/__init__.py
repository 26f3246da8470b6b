"""Sahay's own Rasa NLU components. They run inside the Rasa server's environment (Python
3.10, Rasa 3.6, scikit-learn), which imports them by module path from nlu/config.yml; nothing
here may import the app's packages."""
